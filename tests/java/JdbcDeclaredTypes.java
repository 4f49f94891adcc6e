import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;

/**
 * pgjdbc on the declared types of tests/test_declared_types.py: DatabaseMetaData.getColumns
 * (what Hibernate's schema validation reads) and, as "result" lines, the
 * ResultSetMetaData of a plain SELECT (read from the RowDescription's type OID and
 * modifier) and, as "value" lines, its values as getString reads them. Usage: java -cp postgresql.jar:. JdbcDeclaredTypes JDBC_URL TABLE
 */
public class JdbcDeclaredTypes {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            DatabaseMetaData md = conn.getMetaData();
            try (ResultSet rs = md.getColumns(null, "public", args[1], null)) {
                while (rs.next()) {
                    System.out.println("column | " + rs.getString("COLUMN_NAME") + " | "
                        + rs.getString("DATA_TYPE") + " | " + rs.getString("TYPE_NAME") + " | "
                        + rs.getString("COLUMN_SIZE") + " | " + rs.getString("NULLABLE"));
                }
            }
            try (Statement st = conn.createStatement();
                 ResultSet rs = st.executeQuery("select * from " + args[1])) {
                ResultSetMetaData rsmd = rs.getMetaData();
                for (int i = 1; i <= rsmd.getColumnCount(); i++) {
                    System.out.println("result | " + rsmd.getColumnName(i) + " | "
                        + rsmd.getColumnType(i) + " | " + rsmd.getColumnTypeName(i) + " | "
                        + rsmd.getPrecision(i) + " | " + rsmd.getColumnDisplaySize(i));
                }
                while (rs.next()) {
                    for (int i = 1; i <= rsmd.getColumnCount(); i++) {
                        System.out.println("value | " + rsmd.getColumnName(i) + " | ["
                            + rs.getString(i) + "]");
                    }
                }
            }
        }
    }
}
