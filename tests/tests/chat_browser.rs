//! Two people chat through the chat example's page in headless Chromium: what one
//! types appears on the other's page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use interop_tests::{NodeScript, serve};

#[tokio::test]
async fn a_message_typed_in_one_page_appears_in_the_other() {
    let (app, _io) = example_chat::app(&example_chat::example_dir());
    let addr = serve(app).await.unwrap();
    let browser = NodeScript::spawn("chat-browser.mjs", &[&format!("http://{addr}/")]).unwrap();
    browser.finish(Duration::from_secs(60)).await.unwrap();
}
