/**
 * The workflow bundle's entry: every workflow the worker runs is exported here.
 * Lifecycle workflows (bookings, tours, image and post-tour processing) are added by
 * the issues that introduce them.
 */
export {};
