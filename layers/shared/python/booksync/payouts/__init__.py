"""Square payouts become QuickBooks deposits (issue 4): the planner, the job, the Square port."""
