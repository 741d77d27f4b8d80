//! The owner role of retentiond's schemas (`database.owner_role`), as
//! `migrate` sets it up: it exists and cannot log in, the migrating login
//! may act as it, and it holds what the API needs of the guest tables.

use tokio_postgres::Client;

use crate::error::{Error, Result};

/// Makes sure the owner role exists, cannot log in, and that this login may
/// act as it: a superuser creates it, any other login must be its member.
pub(super) async fn owner_role(client: &Client, owner: &str) -> Result<()> {
    let me = client
        .query_one(
            "SELECT current_user::text, rolsuper FROM pg_catalog.pg_roles
             WHERE rolname = current_user",
            &[],
        )
        .await?;
    let (user, superuser): (String, bool) = (me.get(0), me.get(1));
    let role = client
        .query_opt(
            "SELECT rolcanlogin OR rolsuper, pg_catalog.pg_has_role(current_user, oid, 'MEMBER')
             FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[&owner],
        )
        .await?;
    let quoted = format!("\"{}\"", owner.replace('"', "\"\""));
    match role {
        None if superuser => match client
            .batch_execute(&format!("CREATE ROLE {quoted} NOLOGIN"))
            .await
        {
            Ok(()) => {
                tracing::info!(role = owner, "owner role created");
                Ok(())
            }
            // created by a concurrent migrate
            Err(e)
                if e.code()
                    .is_some_and(|c| c.code() == "42710" || c.code() == "23505") =>
            {
                Ok(())
            }
            Err(e) => Err(e.into()),
        },
        None => Err(Error::Schema(format!(
            "the owner role {owner} (database.owner_role) does not exist, and {user} may not \
             create it: run `retentiond migrate` once as a superuser, or have a superuser run \
             CREATE ROLE {quoted} NOLOGIN; GRANT {quoted} TO {user}; The database was not \
             changed."
        ))),
        Some(row) if row.get::<_, bool>(0) => Err(Error::Schema(format!(
            "the owner role {owner} (database.owner_role) can log in or is a superuser: it \
             must be neither (ALTER ROLE {quoted} NOLOGIN NOSUPERUSER), or choose another \
             database.owner_role. The database was not changed."
        ))),
        Some(row) if !superuser && !row.get::<_, bool>(1) => Err(Error::Schema(format!(
            "{user} may not act as the owner role {owner}: run `retentiond migrate` as a \
             superuser, or have one run GRANT {quoted} TO {user}; The database was not changed."
        ))),
        Some(_) => Ok(()),
    }
}

/// Gives the owner role what the API needs of the guest tables, in plain
/// GRANT statements run as the migrating login (they run no code of the
/// owner role's), and checks it has it: a grantor without the right gets
/// a warning from PostgreSQL, not an error.
pub(super) async fn owner_privileges(
    tx: &tokio_postgres::Transaction<'_>,
    owner: &str,
) -> Result<()> {
    let quoted = format!("\"{}\"", owner.replace('"', "\"\""));
    tx.batch_execute(&format!(
        "RESET ROLE;
         GRANT SELECT ON public.branches, public.guests, public.sales, public.reservations,
             public.newsletter_subscriptions, public.invoices, public.customer_cards
             TO {quoted} WITH GRANT OPTION;
         GRANT UPDATE (first_name, last_name, email, phone, street, birthday, notes, company,
             vat_id, economic_id, anonymized_at, fiscal_erased_at) ON public.guests TO {quoted};
         GRANT UPDATE (notes) ON public.reservations TO {quoted};
         GRANT UPDATE (email, unsubscribed_at) ON public.newsletter_subscriptions TO {quoted};
         GRANT UPDATE (pdf) ON public.invoices TO {quoted};"
    ))
    .await?;
    let check = query!("schema_owner_privileges");
    let missing: Vec<String> = tx
        .query(check.sql, &[&owner])
        .await
        .map_err(|e| check.failed(e))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Schema(format!(
            "the owner role {owner} lacks {} on the guest tables, and this login may not grant \
             it: run `retentiond migrate` as a superuser or as the guest tables' owner, or have \
             their owner grant it (README, Roles). The database was not changed.",
            missing.join(", ")
        )));
    }
    Ok(())
}
