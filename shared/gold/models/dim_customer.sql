-- model: dim_customer
-- depends: silver_customers
-- One row per customer version. The key is derived from (customer_id, valid_from), so it
-- is the same on every rebuild.
SELECT
    ('0x' || substr(sha256(customer_id || '|' || strftime(valid_from, '%Y-%m-%dT%H:%M:%S.%f')), 1, 15))::BIGINT
        AS customer_key,
    customer_id,
    first_name,
    last_name,
    city,
    country,
    loyalty_tier,
    signup_date,
    valid_from,
    valid_to,
    is_current
FROM silver_customers
