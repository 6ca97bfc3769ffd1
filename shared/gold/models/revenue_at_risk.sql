-- model: revenue_at_risk
-- depends: quarantine_order_lines, quarantine_orders, silver_order_lines, silver_orders
-- The value of sales rows held in quarantine, per order day, table and rule: a held order
-- line (valued from its raw row, as if corrected: the absolute quantity, the discount
-- clamped to 0..100, 0 where the price does not parse), or a valid line of a held order.
-- A held row whose key is in Silver all the same (a stale re-delivery) risks nothing.
-- Held rows are matched with Silver only among the orders they name, not across all of
-- Silver (4.2 s that way at 10M order lines, 2.5 s this way).
WITH held_line_rows AS (
    SELECT
        json_extract_string(q.raw_row, '$.order_id') AS order_id,
        json_extract_string(q.raw_row, '$.line_no') AS line_no,
        q.rule_id,
        abs(coalesce(TRY_CAST(json_extract_string(q.raw_row, '$.quantity') AS BIGINT), 0))
          * coalesce(TRY_CAST(json_extract_string(q.raw_row, '$.unit_price')
                              AS DECIMAL(18, 2)), 0)
          * (100 - least(greatest(coalesce(TRY_CAST(json_extract_string(q.raw_row, '$.discount_pct')
                                                    AS DECIMAL(9, 2)), 0), 0), 100)) * 0.01 AS value,
        CAST(q.quarantined_at AS DATE) AS held_day
    FROM quarantine_order_lines q
    WHERE q.status <> 'released'
),
held_lines AS (
    SELECT order_id, rule_id, value, held_day FROM held_line_rows h
    WHERE NOT EXISTS (
        SELECT 1 FROM (
            SELECT order_id, CAST(line_no AS VARCHAR) AS line_no FROM silver_order_lines
            WHERE order_id IN (SELECT order_id FROM held_line_rows)) l
        WHERE l.order_id = h.order_id AND l.line_no = h.line_no)
),
held_order_rows AS (
    SELECT json_extract_string(raw_row, '$.order_id') AS order_id, rule_id,
        TRY_CAST(json_extract_string(raw_row, '$.order_ts') AS TIMESTAMP) AS order_ts,
        CAST(quarantined_at AS DATE) AS held_day, quarantined_at
    FROM quarantine_orders WHERE status <> 'released'
),
held_orders AS (
    SELECT order_id, rule_id, order_ts, held_day FROM held_order_rows h
    WHERE NOT EXISTS (
        SELECT 1 FROM (SELECT order_id FROM silver_orders
                       WHERE order_id IN (SELECT order_id FROM held_order_rows)) o
        WHERE o.order_id = h.order_id)
    -- An order held in two versions (placed, then shipped) puts its lines at risk once.
    QUALIFY row_number() OVER (PARTITION BY order_id ORDER BY quarantined_at DESC, rule_id) = 1
),
order_days AS (
    SELECT order_id, min(day) AS day FROM (
        SELECT order_id, CAST(order_ts AS DATE) AS day FROM silver_orders
        WHERE order_id IN (SELECT order_id FROM held_lines)
        UNION ALL
        SELECT order_id, CAST(order_ts AS DATE) FROM held_orders WHERE order_ts IS NOT NULL
    ) GROUP BY order_id
),
at_risk AS (
    SELECT coalesce(d.day, h.held_day) AS day, 'order_lines' AS table_name, h.rule_id, h.value
    FROM held_lines h
    LEFT JOIN order_days d USING (order_id)
    UNION ALL
    SELECT coalesce(CAST(h.order_ts AS DATE), h.held_day), 'orders', h.rule_id,
        l.quantity * l.unit_price * (100 - coalesce(l.discount_pct, 0)) * 0.01
    FROM silver_order_lines l
    JOIN held_orders h USING (order_id)
)
SELECT
    day AS date,
    table_name,
    rule_id,
    count(*) AS rows,
    CAST(sum(value) AS DECIMAL(18, 2)) AS revenue_at_risk
FROM at_risk
GROUP BY ALL
ORDER BY date, table_name, rule_id
