//! The fixture guest's two states, and the dates fixtures are made on.

use tokio_postgres::Client;

/// Asserts a guest's personal data is exactly in its anonymized form (the
/// fixture guest of [`fx::guest`]: zip and city stay).
pub async fn assert_anonymized(c: &Client, guest: i64) {
    let r = c
        .query_one(
            "SELECT first_name, last_name, email, phone, street, birthday::text, notes,
                    zip, city, anonymized_at IS NOT NULL
             FROM guests WHERE id = $1",
            &[&guest],
        )
        .await
        .unwrap();
    for (i, col) in [
        "first_name",
        "email",
        "phone",
        "street",
        "birthday",
        "notes",
    ]
    .iter()
    .enumerate()
    {
        let idx = if i == 0 { 0 } else { i + 1 };
        assert_eq!(
            r.get::<_, Option<String>>(idx),
            None,
            "{col} of guest {guest}"
        );
    }
    assert_eq!(r.get::<_, Option<String>>(1).as_deref(), Some("DSGVO"));
    assert_eq!(
        r.get::<_, Option<String>>(7).as_deref(),
        Some("51147"),
        "zip is kept"
    );
    assert_eq!(
        r.get::<_, Option<String>>(8).as_deref(),
        Some("Köln"),
        "city is kept"
    );
    assert!(r.get::<_, bool>(9), "anonymized_at is set");
}

/// Asserts a fixture guest still has its personal data.
pub async fn assert_untouched(c: &Client, guest: i64) {
    let r = c
        .query_one(
            "SELECT first_name, last_name, email, anonymized_at IS NULL FROM guests WHERE id = $1",
            &[&guest],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, Option<String>>(0).as_deref(), Some("Erika"));
    assert_eq!(r.get::<_, Option<String>>(1).as_deref(), Some("Mustermann"));
    assert_eq!(
        r.get::<_, Option<String>>(2).as_deref(),
        Some("erika@example.com")
    );
    assert!(r.get::<_, bool>(3), "guest {guest} was anonymized");
}

/// `YYYY-MM-DD` at noon UTC.
pub fn day(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap()
        .and_utc()
}
