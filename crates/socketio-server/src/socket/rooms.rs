//! A socket's rooms.

use super::Socket;
use crate::{IntoRooms, Room};

impl Socket {
    /// Joins rooms (a name, or a list of names).
    pub fn join(&self, rooms: impl IntoRooms) {
        let rooms = rooms.into_rooms();
        self.io()
            .inner
            .adapter
            .add_all(self.ns(), self.sid(), &rooms);
    }

    /// Leaves rooms.
    pub fn leave(&self, rooms: impl IntoRooms) {
        for room in rooms.into_rooms() {
            self.io().inner.adapter.del(self.ns(), self.sid(), &room);
        }
    }

    /// Leaves every room, its own included.
    pub fn leave_all(&self) {
        self.io().inner.adapter.del_all(self.ns(), self.sid());
    }

    /// The rooms the socket is in, its own included.
    pub fn rooms(&self) -> Vec<Room> {
        self.io().inner.adapter.socket_rooms(self.ns(), self.sid())
    }
}
