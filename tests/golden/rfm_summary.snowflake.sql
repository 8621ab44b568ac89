SELECT
  *
FROM (
  SELECT
    "t1"."customer_id",
    MIN("t1"."day") AS "first_purchase",
    MAX("t1"."day") AS "last_purchase",
    COUNT(DISTINCT "t1"."order_id") AS "frequency",
    SUM("t1"."cents") AS "cents"
  FROM (
    SELECT
      "t0"."customer_id",
      "t0"."order_id",
      "t0"."order_date",
      "t0"."amount",
      CAST("t0"."order_date" AS DATE) AS "day",
      CAST(ROUND("t0"."amount" * 100, 0) AS BIGINT) AS "cents"
    FROM "transactions" AS "t0"
    WHERE
      CAST("t0"."order_date" AS DATE) <= DATE_FROM_PARTS(2024, 1, 31)
      AND CAST("t0"."order_date" AS DATE) > DATE_FROM_PARTS(2023, 1, 31)
  ) AS "t1"
  GROUP BY
    1
) AS "t2"
WHERE
  "t2"."cents" > 0
ORDER BY
  "t2"."customer_id" ASC
