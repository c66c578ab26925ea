/**
 * Lays a dashboard out by hand: the SDK's automatic placement can run past the 24-column grid
 * and gives panels no ids, so a Board places each panel at an explicit gridPos, in rows, numbers
 * the panels 1, 2, 3... and keeps what each query must return for the SQL checks.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import { type Dashboard, DashboardBuilder, type Panel, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { LambdamartError } from '@lambdamart/core';
import type { SqlQuery } from './query.ts';

export const gridColumns = 24;

/** What a panel's queries must return, keyed `<panel id>/<refId>`. */
export type Expectations = Map<string, string[]>;

export interface BuiltDashboard {
  dashboard: Dashboard;
  expectations: Expectations;
}

interface PanelBuilderLike extends cog.Builder<Panel> {
  id(id: number): this;
  gridPos(gridPos: { x: number; y: number; w: number; h: number }): this;
  withTarget(target: cog.Builder<cog.Dataquery>): this;
}

export class Board {
  private nextId = 1;
  private x = 0;
  private y = 0;
  private rowHeight = 0;
  readonly expectations: Expectations = new Map();

  constructor(readonly builder: DashboardBuilder) {}

  static create(uid: string, title: string): Board {
    return new Board(new DashboardBuilder(title).uid(uid));
  }

  /** Starts a new row of panels, optionally under a (non-collapsing) row header. */
  row(title?: string): this {
    this.y += this.rowHeight;
    this.x = 0;
    this.rowHeight = 0;
    if (title !== undefined) {
      this.builder.withRow(new RowBuilder(title).id(this.nextId++).gridPos({ x: 0, y: this.y, w: gridColumns, h: 1 }));
      this.y += 1;
    }
    return this;
  }

  /** Places `panel` `w` columns wide and `h` high after the previous one in the current row. */
  add(w: number, h: number, panel: PanelBuilderLike, ...queries: SqlQuery[]): this {
    if (w < 1 || this.x + w > gridColumns) {
      throw new LambdamartError(
        'LM_ERR_GRAFANA_PANEL_LAYOUT',
        `panel ${this.nextId} at x=${this.x} with width ${w} does not fit the ${gridColumns}-column grid`,
      );
    }
    const id = this.nextId++;
    panel.id(id).gridPos({ x: this.x, y: this.y, w, h });
    for (const [i, query] of queries.entries()) {
      query.refId(String.fromCharCode(65 + i));
      panel.withTarget(query);
      this.expectations.set(`${id}/${query.ref}`, query.expectedColumns);
    }
    this.builder.withPanel(panel);
    this.x += w;
    this.rowHeight = Math.max(this.rowHeight, h);
    return this;
  }

  build(): BuiltDashboard {
    return { dashboard: this.builder.build(), expectations: this.expectations };
  }
}
