"""Two-way referral (双向转诊): the closed loop of REFERRAL.md."""
