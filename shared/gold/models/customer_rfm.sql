-- model: customer_rfm
-- depends: fact_sales
-- Recency, frequency and monetary value per customer, as of the latest order_ts in
-- fact_sales (so the result is reproducible), over counted orders only.
WITH as_of AS (SELECT CAST(max(order_ts) AS DATE) AS day FROM fact_sales),
per_customer AS (
    SELECT customer_id,
        date_diff('day', CAST(max(order_ts) AS DATE), (SELECT day FROM as_of)) AS recency_days,
        count(DISTINCT order_id) AS frequency,
        CAST(sum(net_revenue) AS DECIMAL(18, 2)) AS monetary
    FROM fact_sales
    WHERE status IN ('placed', 'shipped', 'delivered')
    GROUP BY customer_id
),
scored AS (
    SELECT *,
        CASE WHEN recency_days <= 30 THEN 4 WHEN recency_days <= 60 THEN 3
             WHEN recency_days <= 90 THEN 2 ELSE 1 END AS r_score,
        CASE WHEN frequency >= 5 THEN 4 WHEN frequency >= 3 THEN 3
             WHEN frequency = 2 THEN 2 ELSE 1 END AS f_score,
        CASE WHEN monetary >= 2000 THEN 4 WHEN monetary >= 1000 THEN 3
             WHEN monetary >= 300 THEN 2 ELSE 1 END AS m_score
    FROM per_customer
)
SELECT *,
    CASE
        WHEN r_score >= 3 AND f_score >= 3 AND m_score >= 3 THEN 'Champions'
        WHEN r_score >= 3 AND f_score >= 2 THEN 'Loyal'
        WHEN r_score >= 3 AND f_score = 1 THEN 'Promising'
        WHEN r_score = 2 AND f_score >= 2 THEN 'At Risk'
        ELSE 'Need Attention'
    END AS segment
FROM scored
ORDER BY customer_id
