import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expandMacros, expandPanelSql, goFloat, interpolateVariables, rfc3339Nano, type Variables } from './macros.ts';

// The examples of Grafana's Postgres datasource docs use this range.
const range = { from: new Date('2017-04-21T05:01:17Z'), to: new Date('2017-04-21T05:06:17Z') };

describe('expandMacros (Grafana Postgres datasource)', () => {
  it('expands the time filter, from and to as RFC 3339 UTC literals', () => {
    assert.equal(
      expandMacros('where $__timeFilter(dateColumn)', range),
      "where dateColumn BETWEEN '2017-04-21T05:01:17Z' AND '2017-04-21T05:06:17Z'",
    );
    assert.equal(expandMacros('select $__timeFrom(), $__timeTo()', range), "select '2017-04-21T05:01:17Z', '2017-04-21T05:06:17Z'");
  });

  it('keeps milliseconds without trailing zeros, as Go RFC3339Nano does', () => {
    assert.equal(rfc3339Nano(new Date('2017-04-21T05:01:17.120Z')), '2017-04-21T05:01:17.12Z');
    assert.equal(rfc3339Nano(new Date('2017-04-21T05:01:17.000Z')), '2017-04-21T05:01:17Z');
  });

  it('expands $__time, $__timeEpoch and $__unixEpochFilter', () => {
    assert.equal(expandMacros('select $__time(dateColumn)', range), 'select dateColumn AS "time"');
    assert.equal(expandMacros('select $__timeEpoch(dateColumn)', range), 'select extract(epoch from dateColumn) as "time"');
    assert.equal(expandMacros('where $__unixEpochFilter(ts)', range), 'where ts >= 1492750877 AND ts <= 1492751177');
  });

  it('groups by time buckets in seconds, with AS "time" for the alias form', () => {
    assert.equal(expandMacros("group by $__timeGroup(dateColumn,'5m')", range), 'group by floor(extract(epoch from dateColumn)/300)*300');
    assert.equal(
      expandMacros("select $__timeGroupAlias(dateColumn, '1d')", range),
      'select floor(extract(epoch from dateColumn)/86400)*86400 AS "time"',
    );
    assert.equal(expandMacros("$__timeGroup(dateColumn,'5m', 0)", range), 'floor(extract(epoch from dateColumn)/300)*300');
    assert.equal(expandMacros("select $__unixEpochGroupAlias(ts,'1h')", range), 'select floor((ts)/3600)*3600 AS "time"');
  });

  it('adds AS "time" to a $__timeGroup directly followed by a comma (pre-5.3 compatibility)', () => {
    assert.equal(expandMacros("select $__timeGroup(c,'1m'), sum(v)", range), 'select floor(extract(epoch from c)/60)*60 AS "time", sum(v)');
  });

  it("prints the bucket size as Go's %v does (1e+06 from a million seconds)", () => {
    assert.equal(goFloat(300), '300');
    assert.equal(goFloat(604800), '604800');
    assert.equal(goFloat(2592000), '2.592e+06');
    assert.equal(goFloat(0.5), '0.5');
    assert.equal(expandMacros("$__timeGroup(c,'30d')", range), 'floor(extract(epoch from c)/2.592e+06)*2.592e+06');
  });

  it('refuses unknown macros, a missing column and a bad interval, as Grafana does', () => {
    assert.throws(() => expandMacros('$__nope(c)', range), /unknown macro "__nope"/);
    assert.throws(() => expandMacros('$__timeFilter()', range), /missing time column/);
    assert.throws(() => expandMacros("$__timeGroup(c,'5 minutes')", range), /error parsing interval/);
  });
});

describe('interpolateVariables (Grafana template variables, SQL datasource)', () => {
  const variables: Variables = {
    country: { multi: true, includeAll: true, options: ['DE', 'US', "Côte d'Ivoire"], current: ['DE', 'US'] },
    segment: { multi: true, includeAll: true, allValue: "'__all'", options: ['Champions', 'Lost'], current: '$__all' },
    category: { multi: true, includeAll: true, options: ['Books', 'Toys'], current: '$__all' },
    single: { options: ['a', 'b'], current: ["O'Brien"] },
  };

  it("quotes every selected value with sqlstring: 'a','b'", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${var} syntax, not a template literal
    assert.equal(interpolateVariables('country in (${country:sqlstring})', variables), "country in ('DE','US')");
    assert.equal(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${var} syntax, not a template literal
      interpolateVariables('${country:sqlstring}', {
        country: { ...(variables.country as Variables[string]), current: ["Côte d'Ivoire"] },
      }),
      "'Côte d''Ivoire'",
    );
  });

  it('substitutes a custom all value unformatted when All is selected', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${var} syntax, not a template literal
    assert.equal(interpolateVariables("'__all' in (${segment:sqlstring})", variables), "'__all' in ('__all')");
    assert.equal(interpolateVariables('$segment', variables), "'__all'");
  });

  it('expands All to every option when there is no custom all value', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${var} syntax, not a template literal
    assert.equal(interpolateVariables('category in (${category:sqlstring})', variables), "category in ('Books','Toys')");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${var} syntax, not a template literal
    assert.equal(interpolateVariables('${category:csv}', variables), 'Books,Toys');
  });

  it('quotes multi-value variables without a format and leaves a single value raw, quotes doubled', () => {
    assert.equal(interpolateVariables('country in ($country)', variables), "country in ('DE','US')");
    assert.equal(interpolateVariables("name = '$single'", variables), "name = 'O''Brien'");
    assert.equal(interpolateVariables('[[country:csv]]', variables), 'DE,US');
  });

  it('leaves macros and unknown names for the backend', () => {
    assert.equal(interpolateVariables('$__timeFilter(t) and $unknown', variables), '$__timeFilter(t) and $unknown');
  });

  it('runs variables before macros, as Grafana does', () => {
    assert.equal(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${var} syntax, not a template literal
      expandPanelSql('where $__timeFilter(t) and c in (${country:sqlstring})', range, variables),
      "where t BETWEEN '2017-04-21T05:01:17Z' AND '2017-04-21T05:06:17Z' and c in ('DE','US')",
    );
  });
});
