/**
 * Sample data for `batchline demo`: viewpoints (what a review sentence can be about) and review sentences that
 * mention them by name, so that a classifier matching the words of viewpoint names finds sensible associations.
 */

export interface SampleViewpoint {
  id: number;
  name: string;
}

export interface SampleReviewSentence {
  review_sentence_id: number;
  text: string;
}

type Domain = 'product' | 'hotel' | 'app';

const FIRST_VIEWPOINT_ID = 101;
const FIRST_SENTENCE_ID = 1_000_001;

/**
 * Viewpoint names per kind of review. No word of four or more letters is shared between two names, so a sentence
 * that names one viewpoint never matches another by accident.
 */
const VIEWPOINT_NAMES: Readonly<Record<Domain, readonly string[]>> = {
  product: [
    'battery life',
    'screen brightness',
    'build quality',
    'sound clarity',
    'camera sharpness',
    'delivery speed',
    'packaging condition',
    'value for money',
    'customer support responsiveness',
    'setup instructions',
    'warranty coverage',
  ],
  hotel: [
    'room cleanliness',
    'staff friendliness',
    'breakfast variety',
    'front desk efficiency',
    'noise insulation',
    'location convenience',
    'wifi reliability',
    'mattress firmness',
    'swimming pool',
    'parking availability',
  ],
  app: [
    'app stability',
    'startup delay',
    'user interface design',
    'notification settings',
    'login process',
    'subscription pricing',
    'offline mode',
    'search accuracy',
    'cloud sync',
    'advertising frequency',
  ],
};

const DOMAINS = Object.keys(VIEWPOINT_NAMES) as Domain[];

interface ViewpointSpec extends SampleViewpoint {
  domain: Domain;
}

const VIEWPOINT_SPECS: readonly ViewpointSpec[] = DOMAINS.flatMap((domain) =>
  VIEWPOINT_NAMES[domain].map((name) => ({ domain, name })),
).map((spec, index) => ({ id: FIRST_VIEWPOINT_ID + index, ...spec }));

/** The demo's viewpoints: product, hotel and app review aspects, ids from 101. */
export function sampleViewpoints(): SampleViewpoint[] {
  return VIEWPOINT_SPECS.map(({ id, name }) => ({ id, name }));
}

// Sentence parts. None of them contains a word of a viewpoint name (the unit test checks this), so the
// viewpoints a sentence mentions are exactly the ones it was built from.

/** Follows a subject; past tense or modal verbs agree with singular and plural subjects alike. */
const VERDICTS = {
  positive: [
    'exceeded my expectations',
    'impressed me right away',
    'stood out in a good way',
    'made a real difference',
    'deserves every bit of praise',
    'turned out better than advertised',
    'felt genuinely thoughtful',
    'won me over',
    'put the competition to shame',
    'left nothing to complain about',
  ],
  negative: [
    'left a lot to be desired',
    'disappointed me',
    'let the whole experience down',
    'needs serious improvement',
    'fell short of what was promised',
    'felt like an afterthought',
    'got worse over the first week',
    'frustrated me more than once',
    'could not compete with cheaper alternatives',
    'made me regret choosing this',
  ],
  mixed: [
    'did the job, nothing more',
    'varied from day to day',
    'seemed about average',
    'took some getting used to',
    'felt fine once I stopped expecting miracles',
  ],
} as const;

type Sentiment = keyof typeof VERDICTS;
const SENTIMENT_WEIGHTS: readonly [Sentiment, number][] = [
  ['positive', 0.45],
  ['negative', 0.4],
  ['mixed', 0.15],
];

/** Ways to refer to a viewpoint by its name. */
const SUBJECT_FORMS: Readonly<Record<Domain, readonly ((name: string) => string)[]>> = {
  product: [
    (name) => `the ${name}`,
    (name) => `the ${name} on this model`,
    (name) => `the ${name} of this unit`,
  ],
  hotel: [(name) => `the ${name}`, (name) => `the ${name} at this hotel`, (name) => `the ${name} here`],
  app: [
    (name) => `the ${name}`,
    (name) => `the ${name} in this app`,
    (name) => `the ${name} in the current version`,
  ],
};

/** Openers that fit any sentence. */
const OPENERS = ['', '', '', 'Honestly, ', 'To be fair, ', 'For what it is worth, ', 'I have to say '];
/** Openers that only fit a judgement. */
const VERDICT_OPENERS = [...OPENERS, 'Overall, ', 'In my experience, ', 'Compared to the last one I tried, '];

const CIRCUMSTANCES: Readonly<Record<Domain, readonly string[]>> = {
  product: [
    '',
    '',
    ' after a month of daily use',
    ' compared to my previous one',
    ' for what I paid',
    ' straight out of the box',
    ' once the first update installed',
  ],
  hotel: [
    '',
    '',
    ' during our three-night stay',
    ' on the weekend we visited',
    ' on a business trip',
    ' given the nightly rate',
    ' compared to other places nearby',
  ],
  app: [
    '',
    '',
    ' since the last update',
    ' on both my phone and tablet',
    ' after a few weeks of use',
    ' on an older phone',
  ],
};

/** Sentences about nothing a viewpoint covers. */
const UNRELATED_REMARKS: Readonly<Record<Domain, readonly string[]>> = {
  product: [
    'I bought it as a birthday present for my brother',
    'this is my second order from this shop',
    'the photos online matched what arrived',
    'my kids love it',
    'I will probably buy another one next year',
    'it replaced an older model that finally died',
  ],
  hotel: [
    'we stayed here on our way to the coast',
    'we booked it for our anniversary',
    'it was our first trip abroad with the kids',
    'we would happily come back next summer',
    'my parents recommended this place to us',
  ],
  app: [
    'I found it through a recommendation from a friend',
    'I have used it for about a year now',
    'my whole team switched to it last month',
    'I mostly open it on the train to work',
    'I tried three similar apps before this one',
  ],
};

const REMARK_ENDINGS = [
  '',
  '',
  ', for context',
  ', so take my words with a grain of salt',
  ', so we will see how it goes',
  ' and that is about it',
];

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32), so the same seed gives the same sentences. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class SentenceComposer {
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = seededRandom(seed);
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)]!;
  }

  chance(probability: number): boolean {
    return this.random() < probability;
  }

  /** `count` different viewpoints of one domain. */
  viewpoints(domain: Domain, count: number): ViewpointSpec[] {
    const pool = VIEWPOINT_SPECS.filter((spec) => spec.domain === domain);
    const chosen: ViewpointSpec[] = [];
    while (chosen.length < count) {
      const candidate = this.pick(pool);
      if (!chosen.includes(candidate)) chosen.push(candidate);
    }
    return chosen;
  }

  sentiment(): Sentiment {
    let roll = this.random();
    for (const [sentiment, weight] of SENTIMENT_WEIGHTS) {
      roll -= weight;
      if (roll < 0) return sentiment;
    }
    return 'mixed';
  }

  /** A verdict not yet used in the sentence being composed. */
  verdict(used: Set<string>, sentiment: Sentiment = this.sentiment()): string {
    let verdict = this.pick(VERDICTS[sentiment]);
    while (used.has(verdict)) verdict = this.pick(VERDICTS[sentiment]);
    used.add(verdict);
    return verdict;
  }

  subject(viewpoint: ViewpointSpec): string {
    return this.pick(SUBJECT_FORMS[viewpoint.domain])(viewpoint.name);
  }

  /** A sentence that mentions `mentions` viewpoints (0 to 3) of one kind of review. */
  sentence(mentions: number): string {
    const domain = this.pick(DOMAINS);
    if (mentions === 0) {
      return `${this.pick(OPENERS)}${this.pick(UNRELATED_REMARKS[domain])}${this.pick(REMARK_ENDINGS)}.`;
    }
    const opener = this.pick(VERDICT_OPENERS);
    const circumstance = this.pick(CIRCUMSTANCES[domain]);
    const [a, b, c] = this.viewpoints(domain, mentions).map((viewpoint) => this.subject(viewpoint));
    const used = new Set<string>();
    const verdict = (sentiment?: Sentiment) => this.verdict(used, sentiment);
    switch (mentions) {
      case 1:
        return `${opener}${a} ${verdict()}${circumstance}.`;
      case 2:
        return this.pick([
          () => `${opener}${a} ${verdict('positive')}, but ${b} ${verdict('negative')}${circumstance}.`,
          () => `${opener}${a} ${verdict('negative')}, while ${b} ${verdict('positive')}${circumstance}.`,
          () => `${opener}${a} ${verdict()}, and ${b} ${verdict()} as well.`,
          () => `${opener}both ${a} and ${b} ${verdict()}${circumstance}.`,
        ])();
      default:
        return this.pick([
          () => `${opener}${a} ${verdict()}, ${b} ${verdict()}, and ${c} ${verdict()}.`,
          () => `In short: ${a} ${verdict('positive')}, ${b} ${verdict()}, but ${c} ${verdict('negative')}.`,
        ])();
    }
  }

  /** How many viewpoints the next sentence mentions: mostly one, often two or three, sometimes none. */
  mentionCount(): number {
    const roll = this.random();
    if (roll < 0.08) return 0;
    if (roll < 0.58) return 1;
    if (roll < 0.86) return 2;
    return 3;
  }
}

const capitalise = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);

/** Attempts at a sentence not produced before; after that a repeat is accepted (tiny counts of huge runs). */
const DISTINCT_ATTEMPTS = 20;

/**
 * `count` review sentences, ids from 1,000,001, the same for the same seed. Most mention one to three viewpoint
 * names (see `sampleViewpoints`); some mention none.
 */
export function sampleReviewSentences(count = 2000, seed = 42): SampleReviewSentence[] {
  const composer = new SentenceComposer(seed);
  const seen = new Set<string>();
  const sentences: SampleReviewSentence[] = [];
  for (let index = 0; index < count; index++) {
    const mentions = composer.mentionCount();
    let text = capitalise(composer.sentence(mentions));
    for (let attempt = 1; attempt < DISTINCT_ATTEMPTS && seen.has(text); attempt++) {
      text = capitalise(composer.sentence(mentions));
    }
    seen.add(text);
    sentences.push({ review_sentence_id: FIRST_SENTENCE_ID + index, text });
  }
  return sentences;
}
