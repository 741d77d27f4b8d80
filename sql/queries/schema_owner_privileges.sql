-- What the owner role still lacks of the guest tables (migrate grants it).
-- $1 text: the owner role
SELECT p.what
FROM (VALUES ('SELECT on public.branches', pg_catalog.has_table_privilege($1, 'public.branches', 'SELECT')),
             ('SELECT on public.guests', pg_catalog.has_table_privilege($1, 'public.guests', 'SELECT')),
             ('SELECT on public.sales', pg_catalog.has_table_privilege($1, 'public.sales', 'SELECT')),
             ('SELECT on public.reservations',
              pg_catalog.has_table_privilege($1, 'public.reservations', 'SELECT')),
             ('SELECT on public.newsletter_subscriptions',
              pg_catalog.has_table_privilege($1, 'public.newsletter_subscriptions', 'SELECT')),
             ('SELECT on public.invoices', pg_catalog.has_table_privilege($1, 'public.invoices', 'SELECT')),
             ('SELECT on public.customer_cards',
              pg_catalog.has_table_privilege($1, 'public.customer_cards', 'SELECT')),
             ('UPDATE of public.guests'' personal columns',
              pg_catalog.has_column_privilege($1, 'public.guests', 'fiscal_erased_at', 'UPDATE')
              AND pg_catalog.has_column_privilege($1, 'public.guests', 'first_name', 'UPDATE')),
             ('UPDATE of public.reservations.notes',
              pg_catalog.has_column_privilege($1, 'public.reservations', 'notes', 'UPDATE')),
             ('UPDATE of public.newsletter_subscriptions.email, unsubscribed_at',
              pg_catalog.has_column_privilege($1, 'public.newsletter_subscriptions', 'unsubscribed_at',
                                              'UPDATE')),
             ('UPDATE of public.invoices.pdf',
              pg_catalog.has_column_privilege($1, 'public.invoices', 'pdf', 'UPDATE'))) AS p (what, held)
WHERE NOT p.held
