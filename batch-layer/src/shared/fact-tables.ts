/** The fact tables and their month partitions, as the facts and quality jobs both read them. */

export const factTables = ['fact_sales', 'fact_product_views', 'fact_cart_events'] as const;
export type FactTable = (typeof factTables)[number];

/** A partition bound FOR VALUES FROM ('2026-01-01') TO ('2026-02-01') as its dates; null for DEFAULT. */
export function partitionRange(bound: string): { from: string; to: string } | null {
  const range = /^FOR VALUES FROM \('([0-9-]+)'\) TO \('([0-9-]+)'\)$/.exec(bound);
  return range ? { from: range[1] ?? '', to: range[2] ?? '' } : null;
}
