/**
 * A raw-SQL query of Grafana's Postgres datasource. The foundation SDK has no Postgres query
 * builder, so this carries the fields the datasource reads in code mode; `expects` records the
 * columns the panel needs, which the SQL checks verify against real data (it is not exported).
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';

/** `time_series` needs a `time` column; `table` returns the rows as they are. */
export type SqlFormat = 'time_series' | 'table';

export interface SqlQueryModel extends cog.Dataquery {
  refId: string;
  datasource: DataSourceRef;
  rawSql: string;
  format: SqlFormat;
  editorMode: 'code';
  rawQuery: true;
}

export class SqlQuery implements cog.Builder<SqlQueryModel> {
  private refIdValue = 'A';
  private expected: string[] = [];

  constructor(
    readonly datasource: DataSourceRef,
    readonly format: SqlFormat,
    readonly rawSql: string,
  ) {}

  refId(refId: string): this {
    this.refIdValue = refId;
    return this;
  }

  /** The columns the panel reads (beyond `time`, which a time series always needs). */
  expects(...columns: string[]): this {
    this.expected = columns;
    return this;
  }

  get expectedColumns(): string[] {
    return this.format === 'time_series' ? ['time', ...this.expected] : [...this.expected];
  }

  get ref(): string {
    return this.refIdValue;
  }

  build(): SqlQueryModel {
    return {
      refId: this.refIdValue,
      datasource: { ...this.datasource },
      rawSql: this.rawSql,
      format: this.format,
      editorMode: 'code',
      rawQuery: true,
      // cog.Dataquery's marker method; JSON.stringify leaves functions out.
      _implementsDataqueryVariant: () => {},
    };
  }
}
