/** Table names of both databases. SQL files use the same names; this is the TypeScript side. */
export const RealtimeTables = {
  transactions: 'transactions',
  transactionItems: 'transaction_items',
  productViewEvents: 'product_view_events',
  cartEvents: 'cart_events',
  productCatalogEvents: 'product_catalog_events',
  products: 'products',
  consumerOffsets: 'consumer_offsets',
  deadLetters: 'dead_letters',
  speedMinuteMetrics: 'speed_minute_metrics',
  /** POST /events requests by Idempotency-Key: a retried request is answered, not sent again. */
  apiIdempotencyKeys: 'api_idempotency_keys',
} as const;

export const WarehouseTables = {
  dimDate: 'dim_date',
  dimGeography: 'dim_geography',
  dimProducts: 'dim_products',
  dimCustomers: 'dim_customers',
  factSales: 'fact_sales',
  factProductViews: 'fact_product_views',
  factCartEvents: 'fact_cart_events',
  productPerformance: 'product_performance',
  customerSegments: 'customer_segments',
  rfmAnalysis: 'rfm_analysis',
  salesTrends: 'sales_trends',
  etlWatermarks: 'etl_watermarks',
  jobRuns: 'job_runs',
  dataQualityResults: 'data_quality_results',
  /** Per facts run, the event dates it loaded: what the analytics and checks refresh. */
  factLoadDates: 'fact_load_dates',
  /** The fact keys the next incremental run stages again (its lookback), so it skips them cheaply. */
  factLookbackKeys: 'fact_lookback_keys',
  /** The orders dim_customers has counted, one row per order. */
  customerOrders: 'customer_orders',
  /** The realtime snapshot of the last unranged facts run: what its revenue is compared with. */
  factSourceSnapshot: 'fact_source_snapshot',
  /** Which DuckDB replica file of the facts the analytics tables match. */
  analyticsReplica: 'analytics_replica',
  /** The API's daily sales (migration 0012): figures and a customer bit string per day, kept by the facts job. */
  salesDaily: 'sales_daily',
  /** Dense customer numbers: bit k of a day's bit string is customer k. */
  salesCustomerKeys: 'sales_customer_keys',
  /** The facts watermark sales_daily describes; the API reads it only when this matches. */
  salesDailyState: 'sales_daily_state',
} as const;

/**
 * The warehouse's NOTIFY channel: a batch job that commits announces itself there, in its own
 * transaction, so a listener (the API's cache) hears of it exactly when the new data is visible.
 * Payload: JSON `BatchRunNotice`.
 */
export const BatchRunsChannel = 'lambdamart_batch_runs';

export interface BatchRunNotice {
  job: string;
  run_id: number;
  status: 'succeeded';
  /** The job's watermark after the run (ISO), or null when it keeps none. */
  watermark: string | null;
}

export const Databases = {
  realtime: 'lambdamart_realtime',
  warehouse: 'lambdamart_warehouse',
} as const;

export type DatabaseKind = keyof typeof Databases;
