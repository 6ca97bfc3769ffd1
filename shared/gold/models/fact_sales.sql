-- model: fact_sales
-- depends: silver_order_lines, silver_orders, dim_customer, dim_product, dim_store
-- One row per valid order line whose order is in Silver. Customer and product are the
-- versions valid at order_ts: the latest version starting at or before it, or the earliest
-- version when the order is older than all of them.
WITH lines AS (
    SELECT l.order_id, l.line_no, l.product_id, l.quantity, l.unit_price,
        coalesce(l.discount_pct, 0) AS discount_pct,
        o.customer_id, o.store_id, o.order_ts, o.status
    FROM silver_order_lines l
    JOIN silver_orders o USING (order_id)
),
customer_version AS (
    SELECT l.order_id, l.line_no,
        coalesce(arg_max(c.customer_key, c.valid_from) FILTER (WHERE c.valid_from <= l.order_ts),
                 arg_min(c.customer_key, c.valid_from)) AS customer_key
    FROM lines l JOIN dim_customer c USING (customer_id)
    GROUP BY ALL
),
product_version AS (
    SELECT l.order_id, l.line_no,
        coalesce(arg_max(p.product_key, p.valid_from) FILTER (WHERE p.valid_from <= l.order_ts),
                 arg_min(p.product_key, p.valid_from)) AS product_key
    FROM lines l JOIN dim_product p USING (product_id)
    GROUP BY ALL
),
valued AS (
    SELECT l.*, cv.customer_key, pv.product_key,
        -- Decimal arithmetic throughout (a DOUBLE would turn 13.185 into 13.18).
        CAST(l.quantity * l.unit_price * (100 - l.discount_pct) * 0.01 AS DECIMAL(18, 2))
            AS net_revenue
    FROM lines l
    LEFT JOIN customer_version cv USING (order_id, line_no)
    LEFT JOIN product_version pv USING (order_id, line_no)
)
SELECT
    v.order_id,
    v.line_no,
    CAST(strftime(v.order_ts, '%Y%m%d') AS INTEGER) AS date_key,
    v.customer_key,
    v.product_key,
    s.store_key,
    v.customer_id,
    v.product_id,
    v.store_id,
    v.order_ts,
    v.quantity,
    CAST(v.unit_price AS DECIMAL(18, 2)) AS unit_price,
    CAST(v.discount_pct AS DECIMAL(5, 2)) AS discount_pct,
    v.net_revenue,
    CAST(v.net_revenue - v.quantity * p.unit_cost AS DECIMAL(18, 2)) AS gross_profit,
    v.status
FROM valued v
LEFT JOIN dim_product p USING (product_key)
LEFT JOIN dim_store s USING (store_id)
