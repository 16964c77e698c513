// Providers are used through the package's index, whose registry registers every channel's credential slots
// (which `setCredential` and `extractProxyKey` consult). Tests that import one provider's file get the same.
import '../src/registry';
