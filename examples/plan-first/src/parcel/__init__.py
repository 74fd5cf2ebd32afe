"""A parcel service's shipping fees: the plan-first example of testplan."""
