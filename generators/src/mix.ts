/**
 * The event mix (`--mix view=60,cart=30,transaction=10`) and the session funnel that produces it.
 * Every cart event follows a view of that product and every purchase follows a cart, so the mix
 * cannot be drawn independently: it is turned into funnel probabilities, in expectation exact.
 */

import { LambdamartError } from '@lambdamart/core';

/** A --mix the funnel cannot produce, and why. */
function invalidMix(message: string): LambdamartError {
  return new LambdamartError('LM_ERR_GENERATOR_MIX_INVALID', message);
}

export interface EventMix {
  view: number;
  cart: number;
  transaction: number;
}

export const DefaultMix: EventMix = { view: 60, cart: 30, transaction: 10 };

/** Share of added items that are removed again later in the session. */
export const RemoveRate = 0.15;

export interface Funnel {
  /** Mean number of product views in a session (1 + geometric). */
  meanViews: number;
  /** Probability that a viewed product is added to the cart. */
  addRate: number;
  /** Probability that an added product is removed again. */
  removeRate: number;
  /** Probability that a session with a non-empty cart ends in a purchase. */
  purchaseRate: number;
}

/** Parses `view=60,cart=30,transaction=10` (any order, any positive scale); throws a one-line Error. */
export function parseMix(text: string): EventMix {
  const mix: EventMix = { view: 0, cart: 0, transaction: 0 };
  const seen = new Set<string>();
  for (const part of text.split(',')) {
    const match = /^\s*(view|cart|transaction)s?\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part);
    if (!match) throw invalidMix(`"${part.trim()}" is not kind=weight with kind view, cart or transaction`);
    const kind = match[1] as keyof EventMix;
    if (seen.has(kind)) throw invalidMix(`${kind} is given twice`);
    seen.add(kind);
    mix[kind] = Number(match[2]);
  }
  funnelFor(mix);
  return mix;
}

function nonEmptyCartProbability(meanViews: number, addRate: number, removeRate: number): number {
  // Views N = 1 + Geometric with mean meanViews; an item stays in the cart with a(1-r).
  // P(cart empty) = E[x^N] with x = 1 - a(1-r); for this N, E[x^N] = q x / (1 - (1-q) x), q = 1/meanViews.
  const x = 1 - addRate * (1 - removeRate);
  const q = 1 / meanViews;
  return 1 - (q * x) / (1 - (1 - q) * x);
}

/** Funnel probabilities whose expected event counts match the mix; throws when no funnel can. */
export function funnelFor(mix: EventMix): Funnel {
  const total = mix.view + mix.cart + mix.transaction;
  if (!(total > 0)) throw invalidMix('the mix needs a positive weight');
  if (mix.view <= 0) throw invalidMix('every session starts with a view: view must be > 0');
  if (mix.cart <= 0 && mix.transaction > 0) throw invalidMix('every purchase follows a cart event: cart must be > 0 when transaction is');
  const addRate = mix.cart / (mix.view * (1 + RemoveRate));
  if (addRate > 1) {
    throw invalidMix(`cart events can be at most ${(1 + RemoveRate).toFixed(2)}x the views (each add follows a view, some are removed)`);
  }
  const txPerView = mix.transaction / mix.view;
  // Long sessions are realistic, short ones buy more per view: use the longest that reaches the mix.
  for (let meanViews = 5; meanViews >= 1; meanViews -= 0.25) {
    if (txPerView === 0) return { meanViews, addRate, removeRate: RemoveRate, purchaseRate: 0 };
    const purchaseRate = (txPerView * meanViews) / nonEmptyCartProbability(meanViews, addRate, RemoveRate);
    if (purchaseRate <= 1) return { meanViews, addRate, removeRate: RemoveRate, purchaseRate };
  }
  throw invalidMix('too many transactions for the cart events: every purchase needs items carted in its session');
}

/** Expected share of each kind for a funnel: for tests and the summary. */
export function expectedMix(funnel: Funnel): EventMix {
  const view = funnel.meanViews;
  const cart = view * funnel.addRate * (1 + funnel.removeRate);
  const transaction = funnel.purchaseRate * nonEmptyCartProbability(funnel.meanViews, funnel.addRate, funnel.removeRate);
  const total = view + cart + transaction;
  return { view: view / total, cart: cart / total, transaction: transaction / total };
}
