//! `retentiond classify`: an unknown guest is a clear error, and the JSON
//! has the documented shape.

mod common;

use common::classify::{company_guest, world};
use common::fx;

#[tokio::test]
async fn unknown_guest_is_a_clear_error() {
    let w = world().await;
    let out = w.db.cli(&["classify", "--guest", "999999"]);
    common::expect_code(&out, 2);
    assert!(common::stderr(&out).contains("guest 999999 does not exist"));
}

#[tokio::test]
async fn classify_json_has_the_documented_shape() {
    let w = world().await;
    fx::policy(&w.c, w.head, "guest", "2 years").await;
    fx::policy(&w.c, w.head, "company_guest", "10 years").await;
    let g = company_guest(&w, false).await;
    let out = w.db.cli(&[
        "classify",
        "--guest",
        &g.to_string(),
        "--format",
        "json",
        "--at",
        "2021-01-01",
    ]);
    let v: serde_json::Value = serde_json::from_str(&common::expect_code(&out, 0)).unwrap();
    assert_eq!(v["guest_id"], g);
    assert_eq!(v["branch_id"], w.head);
    assert_eq!(v["guest_type"], "company_guest");
    assert_eq!(v["last_activity"], "2020-04-10T12:00:00Z");
    assert_eq!(v["personal_deadline"], "2022-04-10T12:00:00Z");
    assert_eq!(v["fiscal_deadline"], "2030-05-10T12:00:00Z");
    assert_eq!(v["blocked_reason"], serde_json::Value::Null);
    assert_eq!(v["status"], "retained");
}
