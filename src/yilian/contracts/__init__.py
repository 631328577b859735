"""Family-doctor contracts: teams, packages, contracts, delivery records (家庭医生签约)."""
