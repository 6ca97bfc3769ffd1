-- model: dim_product
-- depends: silver_products
-- One row per product version; the key is derived from (product_id, valid_from).
SELECT
    ('0x' || substr(sha256(product_id || '|' || strftime(valid_from, '%Y-%m-%dT%H:%M:%S.%f')), 1, 15))::BIGINT
        AS product_key,
    product_id,
    product_name,
    category,
    CAST(unit_cost AS DECIMAL(18, 2)) AS unit_cost,
    CAST(unit_price AS DECIMAL(18, 2)) AS unit_price,
    valid_from,
    valid_to,
    is_current
FROM silver_products
