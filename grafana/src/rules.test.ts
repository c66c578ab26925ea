import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Board } from './board.ts';
import { dashboardDefinitions } from './dashboards/index.ts';
import { Datasources } from './datasources.ts';
import { valueStat } from './panels.ts';
import { SqlQuery } from './query.ts';
import { checkDashboardRules, variablesUsed } from './rules.ts';

const provisioned = Object.values(Datasources).map((d) => d.uid);

describe('dashboard rules', () => {
  for (const { file, build } of dashboardDefinitions) {
    it(`${file} keeps them: grid, unique ids, provisioned datasources, formats, defined variables`, () => {
      assert.deepEqual(checkDashboardRules(build().dashboard, provisioned), []);
    });
  }

  it('finds a panel past the grid, a duplicate id, an unknown uid, a missing format and an undefined variable', () => {
    const sql = (extra: object) => ({
      refId: 'A',
      datasource: Datasources.warehouse,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${var} syntax, not a template literal
      rawSql: 'select 1 where ${country:sqlstring} = 1',
      ...extra,
    });
    const bad = {
      uid: 'bad',
      templating: { list: [] },
      panels: [
        { id: 1, type: 'stat', title: 'wide', gridPos: { x: 12, y: 0, w: 13, h: 4 }, targets: [sql({ format: 'table' })] },
        {
          id: 1,
          type: 'stat',
          title: 'twin',
          gridPos: { x: 0, y: 4, w: 6, h: 4 },
          targets: [sql({ format: 'table', datasource: { uid: 'nope' } })],
        },
        { id: 3, type: 'stat', title: 'unformatted', gridPos: { x: 0, y: 8, w: 6, h: 4 }, targets: [sql({})] },
      ],
    };
    const problems = checkDashboardRules(bad, provisioned);
    assert.ok(
      problems.some((p) => p.includes('"wide"') && p.includes('leaves the 24-column grid')),
      problems.join('\n'),
    );
    assert.ok(problems.some((p) => p.includes('"twin"') && p.includes('id 1 is used twice')));
    assert.ok(problems.some((p) => p.includes('"twin"') && p.includes('"nope" is not provisioned')));
    assert.ok(problems.some((p) => p.includes('"unformatted"') && p.includes('format ""')));
    assert.ok(problems.some((p) => p.includes('uses $country, which the dashboard does not define')));
  });

  it('reads every variable syntax and leaves out Grafana’s own $__ names', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${var} syntax, not a template literal
    assert.deepEqual(variablesUsed("$a ${b} ${c:sqlstring} [[d]] $__timeFilter(t) '$__all'"), ['a', 'b', 'c', 'd']);
  });

  it('a Board refuses a panel that would leave the grid and numbers panels from 1', () => {
    const board = Board.create('t', 'T').row();
    const panel = () => valueStat('x', Datasources.warehouse, 'short', 'x');
    board.add(20, 4, panel(), new SqlQuery(Datasources.warehouse, 'table', 'select 1 as n').expects('n'));
    assert.throws(() => board.add(5, 4, panel()), /does not fit the 24-column grid/);
    const { dashboard, expectations } = board
      .row()
      .add(24, 4, panel(), new SqlQuery(Datasources.warehouse, 'time_series', 'select 1'))
      .build();
    assert.deepEqual(
      dashboard.panels?.map((p) => [p.id, p.gridPos]),
      [
        [1, { x: 0, y: 0, w: 20, h: 4 }],
        [2, { x: 0, y: 4, w: 24, h: 4 }],
      ],
    );
    assert.deepEqual(expectations.get('1/A'), ['n']);
    assert.deepEqual(expectations.get('2/A'), ['time']);
  });
});
