-- Fresh statistics after the demo load, so that the planner sees the data.
VACUUM (ANALYZE) public.branches, public.guests, public.sales, public.reservations,
    public.newsletter_subscriptions, public.invoices, public.customer_cards
