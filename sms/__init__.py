"""SMS gateway: coded reports in, alerts out, nothing lost and nothing sent twice."""
