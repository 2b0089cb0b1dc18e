"""Ad serving: slots, campaigns, line items and creatives; the decision engine; tracking."""
