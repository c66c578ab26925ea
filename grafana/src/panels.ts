/** The panel kinds the dashboards use, with the options they share. */
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import * as common from '@grafana/grafana-foundation-sdk/common';
import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/dashboard';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

/**
 * A KPI: its query returns two rows in time order, the previous period then the current one;
 * the stat shows the last and its change against the first.
 */
export function kpiStat(title: string, datasource: DataSourceRef, unit: string, description: string): stat.PanelBuilder {
  return statPanel(title, datasource, unit, description)
    .colorMode(common.BigValueColorMode.None)
    .showPercentChange(true)
    .reduceOptions(latestValue());
}

/** A single value (the latest). */
export function valueStat(title: string, datasource: DataSourceRef, unit: string, description: string): stat.PanelBuilder {
  return statPanel(title, datasource, unit, description).reduceOptions(latestValue());
}

function statPanel(title: string, datasource: DataSourceRef, unit: string, description: string): stat.PanelBuilder {
  return new stat.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(datasource)
    .unit(unit)
    .graphMode(common.BigValueGraphMode.None);
}

const latestValue = () => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);

/** A legend in a list below the panel, or none. */
const legendBelow = (show: boolean) =>
  new common.VizLegendOptionsBuilder().showLegend(show).displayMode(common.LegendDisplayMode.List).placement(common.LegendPlacement.Bottom);

export function timeSeries(title: string, datasource: DataSourceRef, unit: string, description: string): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(datasource)
    .unit(unit)
    .lineWidth(1)
    .fillOpacity(10)
    .legend(legendBelow(true));
}

export function barChart(
  title: string,
  datasource: DataSourceRef,
  unit: string,
  xField: string,
  description: string,
): barchart.PanelBuilder {
  return new barchart.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(datasource)
    .unit(unit)
    .xField(xField)
    .orientation(common.VizOrientation.Horizontal)
    .showValue(common.VisibilityMode.Auto)
    .legend(legendBelow(false));
}

/** A table, sortable by clicking a header; `sortBy` is the column it opens sorted on (descending). */
export function dataTable(title: string, datasource: DataSourceRef, description: string, sortBy?: string): table.PanelBuilder {
  const panel = new table.PanelBuilder().title(title).description(description).datasource(datasource).cellHeight(common.TableCellHeight.Sm);
  if (sortBy) panel.sortBy([new common.TableSortByFieldStateBuilder().displayName(sortBy).desc(true)]);
  return panel;
}
