import SDCore
print(BLAS.coreName)
