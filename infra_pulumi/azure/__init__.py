"""Azure: ADLS Gen2 lake, Key Vault, Flex Consumption function app, Azure OpenAI, monitoring."""
