//! Small SQL fixture helpers: each inserts one row and returns its id.

use chrono::{DateTime, Utc};
use tokio_postgres::Client;

pub async fn branch(c: &Client, name: &str, parent: Option<i64>) -> i64 {
    c.query_one(
        "INSERT INTO branches (name, parent_id) VALUES ($1, $2) RETURNING id",
        &[&name, &parent],
    )
    .await
    .unwrap()
    .get(0)
}

pub async fn guest(c: &Client, branch: i64, created_at: DateTime<Utc>) -> i64 {
    c.query_one(
        "INSERT INTO guests (branch_id, first_name, last_name, email, phone, street, zip, city,
                             birthday, notes, created_at)
         VALUES ($1, 'Erika', 'Mustermann', 'erika@example.com', '+49 30 1234567',
                 'Heidestraße 17', '51147', 'Köln', '1964-08-12', 'Allergie: Nüsse', $2)
         RETURNING id",
        &[&branch, &created_at],
    )
    .await
    .unwrap()
    .get(0)
}

pub async fn set_company(c: &Client, guest: i64, company: &str) {
    c.execute(
        "UPDATE guests SET company = $2, vat_id = 'DE123456789', economic_id = 'DE123456789-00001'
         WHERE id = $1",
        &[&guest, &company],
    )
    .await
    .unwrap();
}

pub async fn set_verified(c: &Client, guest: i64) {
    c.execute("UPDATE guests SET verified = true WHERE id = $1", &[&guest])
        .await
        .unwrap();
}

pub async fn set_profile_updated(c: &Client, guest: i64, at: DateTime<Utc>) {
    c.execute(
        "UPDATE guests SET profile_updated_at = $2 WHERE id = $1",
        &[&guest, &at],
    )
    .await
    .unwrap();
}

pub async fn sale(c: &Client, guest: i64, at: DateTime<Utc>) -> i64 {
    c.query_one(
        "INSERT INTO sales (guest_id, branch_id, sold_at, total_cents)
         SELECT id, branch_id, $2, 4200 FROM guests WHERE id = $1 RETURNING id",
        &[&guest, &at],
    )
    .await
    .unwrap()
    .get(0)
}

pub async fn reservation(
    c: &Client,
    guest: i64,
    created_at: DateTime<Utc>,
    reserved_for: DateTime<Utc>,
    cancelled: bool,
) -> i64 {
    c.query_one(
        "INSERT INTO reservations (guest_id, branch_id, reserved_for, created_at, party_size, notes, cancelled_at)
         SELECT id, branch_id, $2::timestamptz, $3::timestamptz, 4, 'Fensterplatz',
                CASE WHEN $4::boolean THEN $3::timestamptz END
         FROM guests WHERE id = $1 RETURNING id",
        &[&guest, &reserved_for, &created_at, &cancelled],
    )
    .await
    .unwrap()
    .get(0)
}

pub async fn newsletter(
    c: &Client,
    guest: i64,
    subscribed_at: DateTime<Utc>,
    unsubscribed_at: Option<DateTime<Utc>>,
) {
    c.execute(
        "INSERT INTO newsletter_subscriptions (guest_id, email, subscribed_at, unsubscribed_at)
         VALUES ($1, 'erika@example.com', $2, $3)",
        &[&guest, &subscribed_at, &unsubscribed_at],
    )
    .await
    .unwrap();
}

pub async fn invoice(c: &Client, guest: i64, issued_at: DateTime<Utc>, paid: bool) -> i64 {
    c.query_one(
        "INSERT INTO invoices (guest_id, number, issued_at, pdf, paid_at)
         VALUES ($1::bigint, 'R-' || $1::bigint || '-' || extract(epoch from $2::timestamptz)::bigint,
                 $2::timestamptz, '\\x25504446'::bytea, CASE WHEN $3::boolean THEN $2::timestamptz END)
         RETURNING id",
        &[&guest, &issued_at, &paid],
    )
    .await
    .unwrap()
    .get(0)
}

pub async fn policy(c: &Client, branch: i64, guest_type: &str, period: &str) {
    c.execute(
        "INSERT INTO retention.policies (branch_id, guest_type, period, updated_by)
         VALUES ($1, $2, $3::text::interval, 'fixture')
         ON CONFLICT (branch_id, guest_type) DO UPDATE SET period = excluded.period",
        &[&branch, &guest_type, &period],
    )
    .await
    .unwrap();
}

pub async fn branch_settings_auto_delete(c: &Client, branch: i64) {
    c.execute(
        "INSERT INTO retention.branch_settings (branch_id, auto_delete, updated_by)
         VALUES ($1, true, 'fixture')
         ON CONFLICT (branch_id) DO UPDATE SET auto_delete = true",
        &[&branch],
    )
    .await
    .unwrap();
}

pub async fn count(c: &Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).await.unwrap().get(0)
}
