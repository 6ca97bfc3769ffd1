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
-- The earliest version of each customer and product, for orders older than all of them.
first_customer AS (
    SELECT customer_id, arg_min(customer_key, valid_from) AS customer_key
    FROM dim_customer GROUP BY customer_id
),
first_product AS (
    SELECT product_id, arg_min(product_key, valid_from) AS product_key
    FROM dim_product GROUP BY product_id
),
valued AS (
    SELECT l.*,
        coalesce(c.customer_key, fc.customer_key) AS customer_key,
        coalesce(p.product_key, fp.product_key) AS product_key,
        -- Decimal arithmetic throughout (a DOUBLE would turn 13.185 into 13.18).
        CAST(l.quantity * l.unit_price * (100 - l.discount_pct) * 0.01 AS DECIMAL(18, 2))
            AS net_revenue
    FROM lines l
    -- A version is valid from valid_from until valid_to (exclusive; NULL while current),
    -- and the versions of a key do not overlap: a hash join on the key with the interval
    -- as a filter finds the one valid at order_ts.
    LEFT JOIN dim_customer c ON c.customer_id = l.customer_id
        AND c.valid_from <= l.order_ts AND (c.valid_to IS NULL OR l.order_ts < c.valid_to)
    LEFT JOIN dim_product p ON p.product_id = l.product_id
        AND p.valid_from <= l.order_ts AND (p.valid_to IS NULL OR l.order_ts < p.valid_to)
    LEFT JOIN first_customer fc ON fc.customer_id = l.customer_id
    LEFT JOIN first_product fp ON fp.product_id = l.product_id
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
