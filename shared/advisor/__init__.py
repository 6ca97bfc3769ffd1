"""The advisor: explains pipeline failures and answers questions about the lake from
evidence it cites; it suggests, and a person approves (see the README's Advisor section).
The HTTP operations are in `shared.advisor.api`."""
