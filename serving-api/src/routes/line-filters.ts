/** The line filters of the sales routes (/sales, /kpis), read from their query. */
import type { LineFilters } from '../sales-sql.ts';

/** The filters a query carries on the order lines: country, category, product and customer segment, and nothing else. */
export const lineFiltersOf = (query: LineFilters): LineFilters => ({
  country: query.country,
  category: query.category,
  product_id: query.product_id,
  segment: query.segment,
});
