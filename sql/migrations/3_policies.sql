-- Retention periods per branch and guest type, and per-branch settings.
-- There are no defaults: a missing row means "never anonymized".

CREATE TABLE retention.policies (
    branch_id  bigint NOT NULL REFERENCES public.branches (id) ON DELETE CASCADE,
    guest_type text NOT NULL CHECK (guest_type IN ('newsletter_subscriber',
        'guest_without_sale', 'guest', 'regular_guest', 'company_guest')),
    period     interval NOT NULL CHECK (period > interval '0'),
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL,
    PRIMARY KEY (branch_id, guest_type)
);

CREATE TABLE retention.branch_settings (
    branch_id         bigint PRIMARY KEY REFERENCES public.branches (id) ON DELETE CASCADE,
    auto_delete       boolean NOT NULL DEFAULT false,
    notify_addresses  text[] NOT NULL DEFAULT '{}',
    notify_pending    boolean NOT NULL DEFAULT true,
    notify_completed  boolean NOT NULL DEFAULT true,
    locale            text NULL CHECK (locale IN ('de', 'en')),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    updated_by        text NOT NULL
);

-- The period in force for each branch and type: its own, else the nearest
-- ancestor's (the head office's), marked as inherited.
CREATE VIEW retention.effective_policies AS
WITH RECURSIVE chain AS (
    -- every branch is its own first ancestor (depth 0)
    SELECT b.id AS branch_id, b.id AS ancestor_id, b.parent_id, 0 AS depth
    FROM public.branches b
    UNION ALL
    -- then its parent, grandparent, … (depth guards against a cycle)
    SELECT c.branch_id, p.id, p.parent_id, c.depth + 1
    FROM chain c
    JOIN public.branches p ON p.id = c.parent_id
    WHERE c.depth < 32
)
SELECT DISTINCT ON (c.branch_id, p.guest_type)
    c.branch_id,
    p.guest_type,
    p.period,
    p.branch_id AS source_branch_id,
    c.depth > 0 AS inherited
FROM chain c
JOIN retention.policies p ON p.branch_id = c.ancestor_id
ORDER BY c.branch_id, p.guest_type, c.depth;
