-- model: cohort_retention
-- depends: fact_sales
-- A customer's cohort is the month of their first counted order; months_since 0 is that
-- month; retention_rate = active customers of the cohort in that month / cohort size.
WITH activity AS (
    SELECT DISTINCT customer_id, CAST(date_trunc('month', order_ts) AS DATE) AS month
    FROM fact_sales WHERE status IN ('placed', 'shipped', 'delivered')
),
cohorts AS (
    SELECT customer_id, min(month) AS cohort_month FROM activity GROUP BY customer_id
),
sizes AS (
    SELECT cohort_month, count(*) AS cohort_size FROM cohorts GROUP BY cohort_month
)
SELECT
    c.cohort_month,
    date_diff('month', c.cohort_month, a.month) AS months_since,
    s.cohort_size,
    count(*) AS active_customers,
    CAST(count(*) AS DOUBLE) / s.cohort_size AS retention_rate
FROM activity a
JOIN cohorts c USING (customer_id)
JOIN sizes s USING (cohort_month)
GROUP BY c.cohort_month, months_since, s.cohort_size
ORDER BY c.cohort_month, months_since
