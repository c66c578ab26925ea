/**
 * The simulated shop: a product catalog with prices by category, and customers with a home
 * country and Zipf-like activity. Both are built from the seed, so they are the same every run.
 */
import { type CatalogRecord, LambdamartError } from '@lambdamart/core';
import { Rng, WeightedSampler, zipfWeights } from './random.ts';

interface CategorySpec {
  name: string;
  /** Price range in dollars; prices are drawn log-uniformly inside it. */
  price: [number, number];
  nouns: string[];
}

export const Categories: readonly CategorySpec[] = [
  { name: 'Electronics', price: [25, 1500], nouns: ['Headphones', 'Speaker', 'Monitor', 'Tablet', 'Camera', 'Charger'] },
  { name: 'Computers', price: [15, 2500], nouns: ['Laptop', 'Keyboard', 'Mouse', 'SSD', 'Router', 'Webcam'] },
  { name: 'Phones', price: [10, 1200], nouns: ['Smartphone', 'Phone Case', 'Screen Protector', 'Power Bank'] },
  { name: 'Home & Kitchen', price: [8, 400], nouns: ['Blender', 'Kettle', 'Pan', 'Knife Set', 'Toaster', 'Mug'] },
  { name: 'Furniture', price: [40, 1800], nouns: ['Desk', 'Chair', 'Bookshelf', 'Sofa', 'Lamp', 'Bed Frame'] },
  { name: 'Fashion', price: [10, 300], nouns: ['Jacket', 'T-Shirt', 'Jeans', 'Dress', 'Scarf', 'Hoodie'] },
  { name: 'Shoes', price: [25, 250], nouns: ['Running Shoe', 'Sneaker', 'Boot', 'Sandal', 'Loafer'] },
  { name: 'Beauty', price: [5, 120], nouns: ['Moisturizer', 'Shampoo', 'Perfume', 'Lipstick', 'Serum'] },
  { name: 'Sports', price: [10, 900], nouns: ['Yoga Mat', 'Dumbbell', 'Bicycle', 'Tennis Racket', 'Backpack'] },
  { name: 'Toys', price: [5, 150], nouns: ['Puzzle', 'Board Game', 'Building Set', 'Plush Bear', 'Drone'] },
  { name: 'Books', price: [5, 60], nouns: ['Novel', 'Cookbook', 'Atlas', 'Biography', 'Comic'] },
  { name: 'Grocery', price: [1, 40], nouns: ['Coffee', 'Olive Oil', 'Tea', 'Chocolate', 'Pasta', 'Honey'] },
  { name: 'Garden', price: [5, 600], nouns: ['Hose', 'Planter', 'Lawn Mower', 'Grill', 'Seeds'] },
  { name: 'Automotive', price: [8, 500], nouns: ['Dash Cam', 'Car Vacuum', 'Tire Inflator', 'Seat Cover'] },
  { name: 'Pet Supplies', price: [4, 150], nouns: ['Dog Bed', 'Cat Tree', 'Leash', 'Pet Food', 'Aquarium'] },
];

const Adjectives = ['Classic', 'Pro', 'Eco', 'Smart', 'Ultra', 'Compact', 'Deluxe', 'Essential', 'Premium', 'Lite', 'Max', 'Urban'];

/** About 20 countries, weighted roughly like a global web shop's traffic. */
export const Countries: readonly [string, number][] = [
  ['US', 24],
  ['GB', 9],
  ['DE', 9],
  ['FR', 7],
  ['IN', 7],
  ['CA', 5],
  ['BR', 5],
  ['JP', 5],
  ['AU', 4],
  ['ES', 3],
  ['IT', 3],
  ['NL', 3],
  ['MX', 3],
  ['SE', 2],
  ['PL', 2],
  ['KR', 2],
  ['SG', 2],
  ['ZA', 2],
  ['AE', 1],
  ['NG', 1],
];

export const PaymentMethods: readonly [string, number][] = [
  ['credit_card', 45],
  ['debit_card', 20],
  ['paypal', 18],
  ['apple_pay', 8],
  ['google_pay', 6],
  ['bank_transfer', 3],
];

export interface Product {
  id: string;
  name: string;
  category: string;
  categoryIndex: number;
  /** Current price in cents (integer, so totals add up exactly). */
  priceCents: number;
}

export function productId(index: number): string {
  return `prod_${String(index + 1).padStart(4, '0')}`;
}

export function userId(index: number): string {
  return `user_${String(index + 1).padStart(6, '0')}`;
}

function drawPriceCents(rng: Rng, [min, max]: [number, number]): number {
  const dollars = Math.exp(Math.log(min) + rng.next() * (Math.log(max) - Math.log(min)));
  // Shop prices end in .99 or .49 more often than not.
  const whole = Math.max(0, Math.floor(dollars));
  const cents = rng.pick([99, 99, 49, 0, 95]);
  return Math.max(99, whole * 100 + cents);
}

export function buildProducts(rng: Rng, count: number): Product[] {
  return Array.from({ length: count }, (_, i) => {
    const categoryIndex = i % Categories.length;
    const category = Categories[categoryIndex] as CategorySpec;
    const name = `${rng.pick(Adjectives)} ${rng.pick(category.nouns)} ${100 + rng.int(900)}`;
    return { id: productId(i), name, category: category.name, categoryIndex, priceCents: drawPriceCents(rng, category.price) };
  });
}

export function catalogRecord(product: Product, time: number): CatalogRecord {
  return {
    product_id: product.id,
    name: product.name,
    category: product.category,
    price: product.priceCents / 100,
    updated_at: new Date(time).toISOString(),
  };
}

/** A price change of 5-20% up or down, or (rarely) a move to another category: what drives SCD2 on dim_products. */
export function changeProduct(rng: Rng, product: Product): void {
  if (rng.chance(0.15)) {
    const next = (product.categoryIndex + 1 + rng.int(Categories.length - 1)) % Categories.length;
    product.categoryIndex = next;
    product.category = (Categories[next] as CategorySpec).name;
    return;
  }
  const factor = 1 + (rng.chance(0.5) ? 1 : -1) * (0.05 + rng.next() * 0.15);
  const dollars = Math.floor((product.priceCents * factor) / 100);
  product.priceCents = Math.max(99, dollars * 100 + 99);
}

function minOf(values: Float64Array): number {
  let min = Number.POSITIVE_INFINITY;
  for (const v of values) if (v < min) min = v;
  return min;
}

/** Event time of the catalog's first version: before it, every product has its base record. */
export const CatalogOrigin = Date.UTC(2020, 0, 1);

/**
 * The catalog's changes over time, a function of the seed and of time alone: each product
 * changes at the times of a Poisson process of its own (mean `intervalDays` apart), drawn from a
 * random stream seeded by the seed and the product. So every run, whatever its start, agrees on
 * each product's price and category at any moment: a run's first catalog records are the
 * versions current at its start (with the time they began, not the run's), so re-sending them
 * reproduces records already sent and never undoes a change an earlier run made.
 */
export class CatalogHistory {
  private readonly streams: Rng[];
  private readonly nextChange: Float64Array;
  /** When each product's current version began. */
  readonly since: Float64Array;
  private nextDue = Number.POSITIVE_INFINITY;

  /** `firstVersionAt`: a run that starts before CatalogOrigin dates the base versions from its start. */
  constructor(
    seed: number,
    readonly products: readonly Product[],
    private readonly intervalDays: number,
    firstVersionAt = CatalogOrigin,
  ) {
    if (!(intervalDays > 0))
      throw new LambdamartError(
        'LM_ERR_GENERATOR_OPTION_INVALID',
        `the mean interval between a product's changes must be above 0 days (got ${intervalDays})`,
      );
    const meanMs = intervalDays * 86_400_000;
    this.streams = products.map((_, i) => new Rng((seed ^ 0xca7a1000 ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0));
    this.nextChange = new Float64Array(products.length);
    this.since = new Float64Array(products.length).fill(Math.min(CatalogOrigin, firstVersionAt));
    this.streams.forEach((rng, i) => {
      this.nextChange[i] = Number.isFinite(meanMs) ? CatalogOrigin + rng.exponential(meanMs) : Number.POSITIVE_INFINITY;
    });
    this.nextDue = minOf(this.nextChange);
  }

  /**
   * Applies every change at or before `time` to the products (in place) and returns them in time
   * order, each with the product's record as it became.
   */
  advanceTo(time: number): { time: number; record: CatalogRecord }[] {
    if (time < this.nextDue) return [];
    const changes: { time: number; record: CatalogRecord }[] = [];
    this.apply(time, changes);
    return changes.sort((a, b) => a.time - b.time);
  }

  /**
   * Applies every change at or before `time` without making their records: a run catching up
   * from CatalogOrigin (years of changes, in each shard) sends only the versions current at its start.
   */
  catchUp(time: number): void {
    this.apply(time, undefined);
  }

  private apply(time: number, changes: { time: number; record: CatalogRecord }[] | undefined): void {
    if (time < this.nextDue) return;
    const meanMs = this.intervalDays * 86_400_000;
    for (let i = 0; i < this.products.length; i++) {
      const product = this.products[i] as Product;
      const rng = this.streams[i] as Rng;
      for (let at = this.nextChange[i] as number; at <= time; at = this.nextChange[i] as number) {
        // Whole milliseconds: the record's updated_at must name the version exactly.
        const when = Math.floor(at);
        changeProduct(rng, product);
        this.since[i] = when;
        changes?.push({ time: when, record: catalogRecord(product, when) });
        this.nextChange[i] = at + rng.exponential(meanMs);
      }
    }
    this.nextDue = minOf(this.nextChange);
  }

  /** The versions current at the last `advanceTo` or `catchUp`, each dated from when it began. */
  currentRecords(): CatalogRecord[] {
    return this.products.map((product, i) => catalogRecord(product, this.since[i] as number));
  }
}

export interface Customer {
  id: string;
  country: string;
}

export function buildCustomers(rng: Rng, count: number): Customer[] {
  const countries = new WeightedSampler(Countries.map(([, w]) => w));
  return Array.from({ length: count }, (_, i) => ({ id: userId(i), country: (Countries[countries.sample(rng)] as [string, number])[0] }));
}

/** Moves a customer to another country (SCD2 history on dim_customers). */
export function moveCustomer(rng: Rng, customer: Customer): void {
  const others = Countries.filter(([code]) => code !== customer.country);
  customer.country = rng.pick(others)[0];
}

/**
 * Product popularity: Zipf over `order` (the products, most popular first: a seeded shuffle of the
 * world); sessions mostly browse within one category.
 */
export function productSampler(rng: Rng, order: readonly Product[]): { any(): Product; inCategory(categoryIndex: number): Product } {
  const sampler = new WeightedSampler(zipfWeights(order.length, 0.9));
  const byCategory = Categories.map((_, c) => {
    const members = order.filter((p) => p.categoryIndex === c);
    return { members, sampler: members.length ? new WeightedSampler(zipfWeights(members.length, 0.9)) : null };
  });
  return {
    any: () => order[sampler.sample(rng)] as Product,
    inCategory(categoryIndex) {
      // Categories change over time, so membership is looked up live; fall back to any product.
      const group = byCategory[categoryIndex];
      if (!group?.sampler) return order[sampler.sample(rng)] as Product;
      const product = group.members[group.sampler.sample(rng)] as Product;
      return product.categoryIndex === categoryIndex ? product : (order[sampler.sample(rng)] as Product);
    },
  };
}
