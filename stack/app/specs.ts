// Fixed characteristics per bot type (battery life in hours, load capacity in kg), as the real app has them.
// Kept free of heavy imports: the home page renders from it before the rest of the app has loaded.
export const BOT_TYPES = ['cleaning', 'gardening', 'security'] as const;
export type BotType = (typeof BOT_TYPES)[number];
export const BOT_STATUSES = ['available', 'rented', 'maintenance', 'retired'] as const;
export type BotStatus = (typeof BOT_STATUSES)[number];

export interface BotSpec {
  type: BotType;
  label: string;
  description: string;
  batteryLife: number;
  maxLoadCapacity: number;
  features: readonly string[];
  imageUrl: string;
}

export const BOT_SPECS: Record<BotType, BotSpec> = {
  cleaning: {
    type: 'cleaning',
    label: 'Cleaning Bot',
    description: 'Keeps floors and surfaces tidy, finds its way around furniture and returns to its dock when done.',
    batteryLife: 8,
    maxLoadCapacity: 15,
    features: ['Vacuum and mop modes', 'Returns to dock to recharge', 'Room-by-room scheduling', 'Cliff and bump sensors'],
    imageUrl: '/bots/cleanbot.jpeg',
  },
  gardening: {
    type: 'gardening',
    label: 'Gardening Bot',
    description: 'Mows, weeds and waters on a schedule; built to stay outdoors in any season.',
    batteryLife: 12,
    maxLoadCapacity: 25,
    features: ['Lawn mowing in set patterns', 'Weed spotting', 'Rain-proof body', 'Garden mapping', 'Solar top-up charging'],
    imageUrl: '/bots/gardenbot.jpeg',
  },
  security: {
    type: 'security',
    label: 'Security Bot',
    description: 'Patrols the premises around the clock and raises an alert the moment something looks wrong.',
    batteryLife: 24,
    maxLoadCapacity: 10,
    features: ['Round-the-clock patrols', 'Motion sensing', 'Low-light camera', 'Instant alerts', 'Intruder deterrent siren'],
    imageUrl: '/bots/securebot.jpeg',
  },
};
