// The Stripe-like sandbox.
