-- model: dim_store
-- depends: silver_stores
SELECT
    ('0x' || substr(sha256(store_id), 1, 15))::BIGINT AS store_key,
    store_id,
    store_name,
    city,
    country,
    channel
FROM silver_stores
