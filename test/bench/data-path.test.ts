import { describe, expect, it } from 'vitest';
import { roundPlan } from '../../bench/data-path.ts';

describe('the runs of one data-path round', () => {
  it('measure the bare proxy again just before every gateway scenario, this build or the baseline', () => {
    const plan = roundPlan([
      'upstream',
      'bare-proxy',
      'nginx',
      'gw-public',
      'gw-apikey+redis',
      'base:gw-apikey+redis',
    ]);
    expect(plan).toEqual([
      { name: 'upstream' },
      { name: 'bare-proxy' },
      { name: 'nginx' },
      { name: 'bare-proxy', alongside: 'gw-public' },
      { name: 'gw-public' },
      { name: 'bare-proxy', alongside: 'gw-apikey+redis' },
      { name: 'gw-apikey+redis' },
      { name: 'bare-proxy', alongside: 'base:gw-apikey+redis' },
      { name: 'base:gw-apikey+redis' },
    ]);
  });

  it('run each scenario once, unpaired, when the bare proxy is not measured', () => {
    expect(roundPlan(['upstream', 'gw-apikey'])).toEqual([
      { name: 'upstream' },
      { name: 'gw-apikey' },
    ]);
  });
});
