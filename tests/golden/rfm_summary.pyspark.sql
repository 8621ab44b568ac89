SELECT
  *
FROM (
  SELECT
    `t3`.`customer_id`,
    `t3`.`first_purchase`,
    `t3`.`last_purchase`,
    `t3`.`frequency`,
    `t3`.`cents`
  FROM (
    SELECT
      *
    FROM (
      SELECT
        `t1`.`customer_id`,
        MIN(IF(`t1`.`sale`, `t1`.`day`, NULL)) AS `first_purchase`,
        MAX(IF(`t1`.`sale`, `t1`.`day`, NULL)) AS `last_purchase`,
        COUNT(DISTINCT IF(`t1`.`sale`, `t1`.`order_id`, NULL)) AS `frequency`,
        COALESCE(SUM(`t1`.`cents`), 0) AS `cents`,
        BOOL_OR(`t1`.`sale`) AS `has_purchase`
      FROM (
        SELECT
          `t0`.`customer_id`,
          `t0`.`order_id`,
          `t0`.`order_date`,
          `t0`.`amount`,
          CAST(`t0`.`order_date` AS DATE) AS `day`,
          CAST(ROUND(`t0`.`amount` * 100, 0) AS BIGINT) AS `cents`,
          COALESCE(`t0`.`amount` >= 0, FALSE) AS `sale`
        FROM `transactions` AS `t0`
        WHERE
          CAST(`t0`.`order_date` AS DATE) <= MAKE_DATE(2024, 1, 31)
          AND CAST(`t0`.`order_date` AS DATE) > MAKE_DATE(2023, 1, 31)
      ) AS `t1`
      GROUP BY
        1
    ) AS `t2`
    WHERE
      `t2`.`has_purchase`
  ) AS `t3`
) AS `t4`
ORDER BY
  `t4`.`customer_id` ASC NULLS LAST
