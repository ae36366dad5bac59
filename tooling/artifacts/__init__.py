"""The release-artifact chain: archives, checksums, SBOM, signatures, dist verification."""
