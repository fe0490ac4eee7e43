"""Lead calls: store a lead, push it to the CRM, call it after a delay, note the outcome."""
