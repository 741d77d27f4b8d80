-- Inheritance: the period in force for each branch and type is its own,
-- else the nearest ancestor's (the head office's), marked as inherited.
-- There are no defaults: a type without a row here is never anonymized in
-- that branch.
CREATE OR REPLACE VIEW retention.effective_policies AS
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
