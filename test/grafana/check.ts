/** Every panel query of every dashboard, with All selected and with a selection of each filter. */
import type { Pool } from '@lambdamart/core';
import { loadDashboards, type PanelRun, resolveRange, runPanel, runProblems, variableStates } from './panels.ts';

export interface LabelledRun extends PanelRun {
  /** 'all' or 'selection'. */
  label: string;
}

/** A selection of each filter that keeps rows: two countries, two categories, the two commonest segments. */
export async function sampleSelection(wh: Pool): Promise<Record<string, string[]>> {
  const first = async (sql: string) => (await wh.query<{ v: string }>(sql)).rows.map((r) => r.v);
  return {
    country: await first(`select country as v from dim_geography where geography_id <> -1 order by country limit 2`),
    category: await first(`select distinct category as v from dim_products where product_id_pk <> -1 order by 1 limit 2`),
    segment: await first(`select rfm_segment as v from rfm_analysis group by 1 order by count(*) desc limit 2`),
  };
}

/** Runs every query twice over (All, then the sample selection). */
export async function checkAllPanels(
  pools: { rt: Pool; wh: Pool },
  { times }: { times: number },
): Promise<{ runs: LabelledRun[]; problems: string[] }> {
  const runs: LabelledRun[] = [];
  const problems: string[] = [];
  const selection = await sampleSelection(pools.wh);
  const now = new Date();
  for (const { json, queries } of loadDashboards()) {
    const range = resolveRange(json.time, now);
    for (const [label, selected] of [
      ['all', {}],
      ['selection', selection],
    ] as const) {
      const variables = await variableStates(pools.wh, json, selected);
      for (const query of queries) {
        const run = await runPanel(query.datasource === 'realtime' ? pools.rt : pools.wh, query, range, variables, times);
        runs.push({ ...run, label });
        problems.push(...runProblems(run, { requireRows: label === 'all' }).map((p) => `${p} (${label})`));
      }
    }
  }
  return { runs, problems };
}
