"""Scheduling: schedules, slots, pools, appointments, beds (号源与预约)."""
