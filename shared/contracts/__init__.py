"""Data contracts: one YAML file per table, loaded once into validated objects."""

from shared.contracts.loader import ContractSet, load_contract, load_contracts
from shared.contracts.model import Column, Contract, parse_duration

__all__ = ["Column", "Contract", "ContractSet", "load_contract", "load_contracts", "parse_duration"]
