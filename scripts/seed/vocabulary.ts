// What listings look like: cities with their prices and weights, types, statuses and the
// words descriptions are made of.

export interface City {
  name: string;
  state: string;
  zip: number;
  zipSpan: number;
  lat: number;
  lon: number;
  /** Typical price per square foot, in dollars. */
  ppsf: number;
  /** How many listings it gets, relative to the others. */
  weight: number;
}

export const CITIES: readonly City[] = [
  { name: 'Austin', state: 'TX', zip: 78701, zipSpan: 59, lat: 30.2672, lon: -97.7431, ppsf: 340, weight: 9 },
  { name: 'Houston', state: 'TX', zip: 77002, zipSpan: 97, lat: 29.7604, lon: -95.3698, ppsf: 190, weight: 8 },
  { name: 'Dallas', state: 'TX', zip: 75201, zipSpan: 53, lat: 32.7767, lon: -96.797, ppsf: 230, weight: 7 },
  { name: 'Phoenix', state: 'AZ', zip: 85003, zipSpan: 51, lat: 33.4484, lon: -112.074, ppsf: 270, weight: 7 },
  { name: 'Denver', state: 'CO', zip: 80202, zipSpan: 37, lat: 39.7392, lon: -104.9903, ppsf: 380, weight: 5 },
  { name: 'Seattle', state: 'WA', zip: 98101, zipSpan: 98, lat: 47.6062, lon: -122.3321, ppsf: 560, weight: 4 },
  { name: 'Portland', state: 'OR', zip: 97201, zipSpan: 35, lat: 45.5152, lon: -122.6784, ppsf: 390, weight: 3 },
  { name: 'San Diego', state: 'CA', zip: 92101, zipSpan: 53, lat: 32.7157, lon: -117.1611, ppsf: 720, weight: 4 },
  { name: 'Los Angeles', state: 'CA', zip: 90001, zipSpan: 88, lat: 34.0522, lon: -118.2437, ppsf: 690, weight: 6 },
  { name: 'San Jose', state: 'CA', zip: 95110, zipSpan: 28, lat: 37.3382, lon: -121.8863, ppsf: 850, weight: 2 },
  { name: 'Sacramento', state: 'CA', zip: 95814, zipSpan: 50, lat: 38.5816, lon: -121.4944, ppsf: 330, weight: 2 },
  { name: 'Las Vegas', state: 'NV', zip: 89101, zipSpan: 77, lat: 36.1699, lon: -115.1398, ppsf: 250, weight: 3 },
  { name: 'Salt Lake City', state: 'UT', zip: 84101, zipSpan: 20, lat: 40.7608, lon: -111.891, ppsf: 330, weight: 2 },
  { name: 'Minneapolis', state: 'MN', zip: 55401, zipSpan: 30, lat: 44.9778, lon: -93.265, ppsf: 220, weight: 2 },
  { name: 'Chicago', state: 'IL', zip: 60601, zipSpan: 60, lat: 41.8781, lon: -87.6298, ppsf: 260, weight: 6 },
  { name: 'Columbus', state: 'OH', zip: 43201, zipSpan: 40, lat: 39.9612, lon: -82.9988, ppsf: 190, weight: 2 },
  { name: 'Cleveland', state: 'OH', zip: 44101, zipSpan: 40, lat: 41.4993, lon: -81.6944, ppsf: 120, weight: 2 },
  { name: 'Detroit', state: 'MI', zip: 48201, zipSpan: 40, lat: 42.3314, lon: -83.0458, ppsf: 110, weight: 2 },
  { name: 'Nashville', state: 'TN', zip: 37201, zipSpan: 50, lat: 36.1627, lon: -86.7816, ppsf: 310, weight: 4 },
  { name: 'Atlanta', state: 'GA', zip: 30303, zipSpan: 60, lat: 33.749, lon: -84.388, ppsf: 240, weight: 5 },
  { name: 'Charlotte', state: 'NC', zip: 28202, zipSpan: 60, lat: 35.2271, lon: -80.8431, ppsf: 230, weight: 4 },
  { name: 'Raleigh', state: 'NC', zip: 27601, zipSpan: 17, lat: 35.7796, lon: -78.6382, ppsf: 250, weight: 3 },
  { name: 'Miami', state: 'FL', zip: 33125, zipSpan: 60, lat: 25.7617, lon: -80.1918, ppsf: 480, weight: 5 },
  { name: 'Tampa', state: 'FL', zip: 33602, zipSpan: 45, lat: 27.9506, lon: -82.4572, ppsf: 280, weight: 4 },
  { name: 'Orlando', state: 'FL', zip: 32801, zipSpan: 38, lat: 28.5383, lon: -81.3792, ppsf: 260, weight: 4 },
  { name: 'Boston', state: 'MA', zip: 2108, zipSpan: 30, lat: 42.3601, lon: -71.0589, ppsf: 690, weight: 3 },
  { name: 'New York', state: 'NY', zip: 10001, zipSpan: 40, lat: 40.7128, lon: -74.006, ppsf: 950, weight: 5 },
  { name: 'Philadelphia', state: 'PA', zip: 19102, zipSpan: 50, lat: 39.9526, lon: -75.1652, ppsf: 210, weight: 3 },
  { name: 'Pittsburgh', state: 'PA', zip: 15201, zipSpan: 40, lat: 40.4406, lon: -79.9959, ppsf: 150, weight: 2 },
  { name: 'Baltimore', state: 'MD', zip: 21201, zipSpan: 30, lat: 39.2904, lon: -76.6122, ppsf: 180, weight: 2 },
  { name: 'Kansas City', state: 'MO', zip: 64105, zipSpan: 50, lat: 39.0997, lon: -94.5786, ppsf: 170, weight: 2 },
  { name: 'Boise', state: 'ID', zip: 83702, zipSpan: 14, lat: 43.615, lon: -116.2023, ppsf: 290, weight: 1 },
];

export const PROPERTY_TYPES = [
  ['single_family', 55],
  ['condominium', 17],
  ['townhouse', 12],
  ['multi_family', 6],
  ['manufactured', 3],
  ['land', 5],
  ['other', 2],
] as const;
export type PropertyType = (typeof PROPERTY_TYPES)[number][0];

export const STATUSES = [
  ['active', 70],
  ['coming_soon', 8],
  ['pending', 8],
  ['active_under_contract', 3],
  ['closed', 7],
  ['withdrawn', 3],
  ['expired', 1],
] as const;

export const STREETS = [
  'Oak', 'Maple', 'Cedar', 'Elm', 'Pine', 'Willow', 'Birch', 'Magnolia', 'Juniper', 'Aspen', 'Sycamore', 'Hickory',
  'Washington', 'Lincoln', 'Jefferson', 'Madison', 'Franklin', 'Jackson', 'Adams', 'Monroe', 'Lake', 'Hill', 'Park',
  'Sunset', 'Highland', 'Meadow', 'River', 'Spring', 'Forest', 'Ridge', 'Valley', 'Church', 'Main', 'Mill', 'Prairie',
  'Harbor', 'Cypress', 'Summit', 'Orchard', 'Canyon', 'Bluebonnet', 'Heritage', 'Chestnut', 'Dogwood', 'Laurel',
];
export const SUFFIXES = ['St', 'Ave', 'Blvd', 'Dr', 'Ln', 'Ct', 'Way', 'Rd', 'Pl', 'Ter', 'Cir', 'Pkwy'];
export const FIRST_NAMES = [
  'Olivia', 'Liam', 'Emma', 'Noah', 'Ava', 'Elijah', 'Sophia', 'James', 'Isabella', 'William', 'Mia', 'Benjamin',
  'Charlotte', 'Lucas', 'Amelia', 'Henry', 'Harper', 'Theodore', 'Evelyn', 'Mateo', 'Abigail', 'Daniel', 'Emily',
  'Jack', 'Ella', 'Owen', 'Grace', 'Samuel', 'Chloe', 'Sebastian', 'Priya', 'Wei', 'Fatima', 'Diego', 'Aisha', 'Kenji',
];
export const LAST_NAMES = [
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Garcia', 'Miller', 'Davis', 'Rodriguez', 'Martinez', 'Hernandez',
  'Lopez', 'Gonzalez', 'Wilson', 'Anderson', 'Thomas', 'Taylor', 'Moore', 'Jackson', 'Martin', 'Lee', 'Perez',
  'Thompson', 'White', 'Harris', 'Clark', 'Lewis', 'Robinson', 'Walker', 'Young', 'Patel', 'Nguyen', 'Kim', 'Chen',
];
export const NEIGHBOURHOODS = ['Old Town', 'the Arts District', 'Riverside', 'Northgate', 'Westwood', 'Lakeview', 'the Heights', 'Eastside', 'Midtown', 'Brookhaven'];

export const TYPE_LABEL: Record<PropertyType, string> = {
  single_family: 'single-family home',
  condominium: 'condo',
  townhouse: 'townhouse',
  multi_family: 'multi-family property',
  manufactured: 'manufactured home',
  land: 'lot',
  other: 'property',
};

export const OPENERS = [
  'Charming {beds}-bedroom {type} in the heart of {hood}.',
  'Move-in ready {type} on a quiet, tree-lined street in {hood}.',
  'Spacious {type} with {sqft} sq ft of light-filled living space.',
  'Beautifully updated {type} just minutes from downtown {city}.',
  'Welcome home to this stylish {beds}-bedroom {type} near {hood}.',
  'Rare opportunity: a well-kept {type} in sought-after {hood}.',
  'Modern {type} with thoughtful upgrades throughout.',
];
export const FEATURES = [
  'Granite countertops and stainless steel appliances in the updated kitchen.',
  'Sparkling in-ground pool with a covered patio for entertaining.',
  'Hardwood floors throughout the main level.',
  'Open floor plan with vaulted ceilings and oversized windows.',
  'Primary suite with a walk-in closet and a spa-like bath.',
  'Attached two-car garage with built-in storage.',
  'Fenced backyard, perfect for pets and play.',
  'Cozy wood-burning fireplace in the living room.',
  'Owned solar panels keep utility bills low.',
  'Finished basement with a home theater and guest room.',
  'Quartz countertops and a large kitchen island.',
  'Energy-efficient windows and a brand-new HVAC system.',
  'Rooftop deck with skyline views.',
  'Community pool, fitness center and clubhouse.',
  "Chef's kitchen with a gas range and granite island.",
  'Smart-home thermostat, video doorbell and EV charger in the garage.',
  'Covered front porch and mature shade trees.',
  'Private balcony off the living room.',
  'Laundry room with a utility sink and extra storage.',
  'Heated pool and hot tub in a private backyard oasis.',
  'Home office with built-in shelving.',
  'New roof and water heater.',
];
export const LAND_FEATURES = [
  'Utilities available at the street.',
  'Gently sloping with mature oak trees.',
  'Zoned residential; bring your builder and your plans.',
  'Quiet cul-de-sac location with room for a pool.',
  'Survey and soil report available.',
];
export const CLOSERS = [
  "Close to {city}'s best schools, parks and shopping.",
  'Minutes from downtown {city} and major highways.',
  'Walk to cafes, restaurants and the farmers market.',
  'Schedule a video tour today!',
  'Low HOA dues and no rental restrictions.',
  'Seller is motivated: bring your offers.',
];
