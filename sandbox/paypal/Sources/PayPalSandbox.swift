// The PayPal-like sandbox.
